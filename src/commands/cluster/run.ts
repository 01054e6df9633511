import { Args, Flags } from '@oclif/core';
import { MvCommand } from '../../lib/base-command';
import { clusterRun, clusterTable } from '../../cluster/cluster';

export default class ClusterRun extends MvCommand {
  static override summary =
    "Boot an image on a virtual cluster of QEMU nodes that network-boot from mv-image serve, and collect every node's result";
  static override description = `For CI and for trying an image without hardware. Makes a network namespace of its own with a bridge and one tap per node (addresses 10.77.0.0/24 that exist only inside it: nothing binds to or sends on a host interface), runs 'mv-image serve' there as the network's DHCP server, and powers on the N nodes TOGETHER (as a cluster job needs them: an MPI job waits for all its ranks). Each node boots through its firmware's own network boot: SeaBIOS's iPXE option ROM, or for the last --uefi-nodes nodes OVMF's PXE, which fetches ipxe.efi over TFTP. No -kernel, no QEMU built-in TFTP.

The nodes are QEMU TCG guests (-cpu max, nested KVM for the HRT): one takes about 20 s to boot alone and more when they share the CPUs, so allow for --timeout.

Each node's result is its report to serve, or, when none arrived, what its serial console shows (kernel panic, no MV-EXIT before --timeout). Prints a line per node as reports arrive and a table at the end (--json: one object per node on stdout). Exit status 0 when every node reported MV-EXIT 0, else 1 (the failed nodes' serial logs are kept and named); 130 on Ctrl-C. Every exit path, Ctrl-C included, stops the nodes, serve and dnsmasq and removes the namespace, bridge and taps; a namespace left by a run that was killed outright is removed by the next run. Needs root.`;
  static override examples = [
    '<%= config.bin %> cluster run images/hello-netboot --nodes 3 --uefi-nodes 1',
    '<%= config.bin %> cluster run images/mpi.iso --nodes 3 --timeout 600 --json',
  ];
  static override args = { image: Args.string({ description: 'a netboot directory (build --format netboot) or an ISO', required: true }) };
  static override flags = {
    nodes: Flags.integer({ char: 'n', description: 'how many nodes', default: 2, min: 1, max: 64 }),
    'uefi-nodes': Flags.integer({
      description: 'how many of them (the last ones) boot with OVMF (UEFI) instead of SeaBIOS',
      default: 0,
      min: 0,
    }),
    timeout: Flags.integer({ description: 'seconds each node has from power-on to MV-EXIT', default: 300, min: 10 }),
    memory: Flags.integer({ description: 'memory per node in MiB', default: 1024, min: 512 }),
    cpus: Flags.integer({ description: 'CPUs per node', default: 2, min: 1 }),
    logs: Flags.string({ description: "keep every node's serial log in this directory (default: kept only when a node failed)" }),
    json: Flags.boolean({ description: 'one JSON object per node on stdout (progress and the table on stderr)' }),
  };

  async run() {
    const { args, flags } = await this.parse(ClusterRun);
    const out = (l: string) => process.stdout.write(l + '\n'),
      err = (l: string) => process.stderr.write(l + '\n');
    const r = await clusterRun({
      image: args.image,
      nodes: flags.nodes,
      uefiNodes: flags['uefi-nodes'],
      timeoutS: flags.timeout,
      memMiB: flags.memory,
      cpus: flags.cpus,
      logs: flags.logs,
      json: flags.json,
      out,
      err,
    });
    if (flags.json) for (const n of r.nodes) out(JSON.stringify(n));
    (flags.json ? err : out)(clusterTable(r));
    err(
      `${r.nodes.filter((n) => n.ok).length} of ${r.nodes.length} nodes reported MV-EXIT 0; ${r.seconds} s from power-on to the last result`,
    );
    if (r.error) throw r.error;
  }
}
