/* mv-drain - waits until everything written to the terminal on stdout has
 * left the machine (tcdrain), then exits 0.
 *
 * Why: the image's init runs the program in a session of its own on the
 * console tty (Ctrl-C works as on a Linux console). When that session's
 * leader exits, the kernel hangs the tty up, and the hangup throws away
 * output still queued in the serial driver: the program's last lines could
 * be lost (seen under QEMU: 290 of 300 lines arrived). The leader runs this
 * before it exits. Not a tty: nothing to wait for. */
#include <termios.h>
#include <unistd.h>

int main(void)
{
	if (isatty(STDOUT_FILENO))
		tcdrain(STDOUT_FILENO);
	return 0;
}
