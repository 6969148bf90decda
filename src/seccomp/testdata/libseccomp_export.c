/* Test helper for src/seccomp/tests/libseccomp.rs (an #[ignore]d differential test):
 * builds a filter with libseccomp the way runc drives it and writes the BPF program
 * to stdout (seccomp_export_bpf). Needs libseccomp-dev and a C compiler.
 *
 * stdin: "D <default action>", then "A <arch name>"..., then
 *        "R <syscall> <action> <n> (<arg index> <op> <value> <valueTwo>){n}"...
 * Names libseccomp does not know are skipped, as runc does.
 */
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char tag[8], name[128];
	scmp_filter_ctx ctx = NULL;

	while (scanf("%7s", tag) == 1) {
		if (!strcmp(tag, "D")) {
			uint32_t def;
			if (scanf("%" SCNu32, &def) != 1 || !(ctx = seccomp_init(def)))
				return 1;
			seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
			seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
			seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
		} else if (!strcmp(tag, "A")) {
			if (!ctx || scanf("%127s", name) != 1)
				return 1;
			uint32_t arch = seccomp_arch_resolve_name(name);
			if (!arch || (seccomp_arch_exist(ctx, arch) && seccomp_arch_add(ctx, arch)))
				return 1;
		} else if (!strcmp(tag, "R")) {
			struct scmp_arg_cmp args[6];
			uint32_t action;
			int n;
			if (!ctx || scanf("%127s %" SCNu32 " %d", name, &action, &n) != 3 || n < 0 || n > 6)
				return 1;
			for (int i = 0; i < n; i++) {
				unsigned idx, op;
				uint64_t a, b;
				if (scanf("%u %u %" SCNu64 " %" SCNu64, &idx, &op, &a, &b) != 4)
					return 1;
				args[i] = (struct scmp_arg_cmp){ .arg = idx, .op = op, .datum_a = a, .datum_b = b };
			}
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (seccomp_rule_add_array(ctx, action, nr, n, args)) {
				fprintf(stderr, "rule on %s refused\n", name);
				return 1;
			}
		} else {
			return 1;
		}
	}
	return ctx && !seccomp_export_bpf(ctx, 1) ? 0 : 1;
}
