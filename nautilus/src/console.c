/* console.c - kprintf through the VMM (MV_OP_CONSOLE). Supports %s %c %d %u
 * %x %lx %lu %ld %p, which is all Nautilus prints. */
#include <stdarg.h>
#include <nk/nk.h>

struct buf {
	char s[256];
	size_t n;
};

static void put(struct buf *b, char c)
{
	if (b->n < sizeof b->s)
		b->s[b->n++] = c;
}

static void put_num(struct buf *b, uint64_t v, unsigned base, int neg)
{
	char tmp[24];
	int i = 0;
	if (neg)
		put(b, '-');
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		put(b, tmp[--i]);
}

void kprintf(const char *fmt, ...)
{
	struct buf b = { .n = 0 };
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int lng = 0;
		if (*fmt != '%') {
			put(&b, *fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (s && *s)
				put(&b, *s++);
			break;
		}
		case 'c': put(&b, (char)va_arg(ap, int)); break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(&b, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0);
			break;
		}
		case 'u': put_num(&b, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, 0); break;
		case 'x': put_num(&b, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, 0); break;
		case 'p':
			put(&b, '0');
			put(&b, 'x');
			put_num(&b, (uint64_t)va_arg(ap, void *), 16, 0);
			break;
		case '%': put(&b, '%'); break;
		default: put(&b, '?'); break;
		}
	}
	va_end(ap);
	hc__call(MV_OP_CONSOLE, (uint64_t)b.s, b.n);
}
