/* printf, file create/write/read/rename/unlink, directories. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	const char *dir = "/tmp/mv-t-files";
	char buf[256];

	printf("printf: %d %s %.3f %x\n", 42, "str", 3.14159, 0xbeef);
	mkdir(dir, 0755);
	CHECK(chdir(dir) == 0);
	FILE *f = fopen("a.txt", "w");
	CHECK(f != NULL);
	for (int i = 0; i < 100; i++)
		fprintf(f, "line %d\n", i);
	CHECK(fclose(f) == 0);
	struct stat st;
	CHECK(stat("a.txt", &st) == 0 && st.st_size == 790);
	CHECK(rename("a.txt", "b.txt") == 0);
	CHECK(access("a.txt", F_OK) != 0);
	int fd = open("b.txt", O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, 15);
	CHECK(n == 15 && memcmp(buf, "line 0\nline 1\nl", 15) == 0);
	CHECK(lseek(fd, -8, SEEK_END) == 782 && read(fd, buf, 100) == 8 && memcmp(buf, "line 99\n", 8) == 0);
	close(fd);
	fd = open("c.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(fd >= 0 && pwrite(fd, "xyz", 3, 1000) == 3);
	close(fd);
	CHECK(stat("c.bin", &st) == 0 && st.st_size == 1003);
	int entries = 0, sawb = 0, sawc = 0;
	DIR *d = opendir(".");
	CHECK(d != NULL);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		entries++;
		sawb |= strcmp(e->d_name, "b.txt") == 0;
		sawc |= strcmp(e->d_name, "c.bin") == 0;
	}
	if (d)
		closedir(d);
	CHECK(entries == 4 && sawb && sawc);
	CHECK(unlink("b.txt") == 0 && unlink("c.bin") == 0);
	CHECK(access("b.txt", F_OK) != 0);
	CHECK(getcwd(buf, sizeof buf) && strcmp(buf, dir) == 0);
	CHECK(chdir("/") == 0 && rmdir(dir) == 0);
	DONE("t_files");
}
