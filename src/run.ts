// `mv-image run`: pick an accelerator and boot an ISO with the shared QEMU harness.
import { existsSync } from 'node:fs';
import { Progress } from './lib/progress';
import { kernelStage } from './stages/kernel';
import { Accel, boot, BootOptions, BootResult, probeKvm } from './harness/qemu';

export const ACCELS = ['auto', 'kvm', 'tcg'] as const;

export interface RunOptions extends Omit<BootOptions, 'accel'> { accel?: (typeof ACCELS)[number] }

export async function chooseAccel(want: (typeof ACCELS)[number]): Promise<Accel> {
  if (want !== 'auto') return want;
  if (!existsSync('/dev/kvm')) return 'tcg';
  // The probe boots Debian's kernel (from the cache) under KVM and wants to see it start.
  const kernel = await kernelStage(Progress.quiet());
  return (await probeKvm(kernel.vmlinuz)) ? 'kvm' : 'tcg';
}

export async function runImage(o: RunOptions): Promise<BootResult & { accel: Accel }> {
  const accel = await chooseAccel(o.accel ?? 'auto');
  const r = await boot({ ...o, accel });
  return { ...r, accel };
}
