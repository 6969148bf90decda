/*
 * floor: the least work needed to run a program in fresh namespaces from a
 * rootfs. It is the kernel floor that the benchmark compares the runtimes to
 * (see README.md): clone(NEWPID|NEWNS|NEWUTS|NEWIPC[|NEWNET]), make / private,
 * bind the rootfs onto itself, pivot_root(".", "."), detach the old root,
 * execve the command with only PATH in the environment; the parent waits and
 * exits with the child's status. No cgroups, no /proc or /dev mounts, no
 * seccomp, no capability changes, no state files.
 *
 *   floor [-n] [-r N] ROOTFS CMD [ARG...]
 *     -n    no network namespace (drop CLONE_NEWNET)
 *     -r N  repeat N times (for strace/perf); exits with the last failure
 *
 * Build: gcc -O2 -static -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct job {
	const char *rootfs;
	char **argv;
};

static char *const child_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	NULL,
};

static char child_stack[256 * 1024] __attribute__((aligned(16)));

static int fail(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 127;
}

static int child(void *arg)
{
	const struct job *job = arg;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("make / private");
	if (mount(job->rootfs, job->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
		return fail("bind-mount rootfs");
	if (chdir(job->rootfs) != 0)
		return fail("chdir rootfs");
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		return fail("pivot_root");
	if (umount2(".", MNT_DETACH) != 0)
		return fail("detach old root");
	if (chdir("/") != 0)
		return fail("chdir /");
	execve(job->argv[0], job->argv, child_env);
	return fail(job->argv[0]);
}

static int run_once(struct job *job, int flags)
{
	int status;
	pid_t pid = clone(child, child_stack + sizeof(child_stack), flags | SIGCHLD, job);

	if (pid < 0)
		return fail("clone");
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return fail("waitpid");
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
	long repeat = 1;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "+nr:")) != -1) {
		switch (opt) {
		case 'n':
			flags &= ~CLONE_NEWNET;
			break;
		case 'r':
			repeat = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2 || repeat < 1)
		goto usage;

	struct job job = { .rootfs = argv[optind], .argv = &argv[optind + 1] };
	for (long i = 0; i < repeat; i++) {
		int r = run_once(&job, flags);
		if (r != 0)
			rc = r;
	}
	return rc;

usage:
	fprintf(stderr, "usage: floor [-n] [-r N] ROOTFS CMD [ARG...]\n");
	return 2;
}
