import { Args, Flags } from '@oclif/core';
import { MvCommand } from '../lib/base-command';
import { serve } from '../serve/serve';

export default class Serve extends MvCommand {
  static override summary =
    "Boot a cluster's nodes from an image over the network (DHCP or proxy-DHCP, TFTP, iPXE, HTTP) and collect their results";
  static override description = `Starts Debian's dnsmasq on one interface (its own config, lease and pid files in a run directory under /run/mv-image; no host configuration is touched) and mv-image's own HTTP server on that interface's address.

By default dnsmasq runs as a proxy-DHCP server: the site's DHCP server keeps handing out addresses and dnsmasq only tells PXE clients what to boot, as PXE servers do. With --dhcp-range A,B it is the network's DHCP server instead (for a network of your own).

BIOS PXE clients get iPXE (undionly.kpxe), UEFI ones ipxe.efi, over TFTP; iPXE (recognised by its DHCP user class, so it is not handed iPXE again) fetches its script, the kernel and the initramfs over HTTP. Each node's kernel command line carries the server's URL, the node's MAC, its index and the node count (MV_NODE_INDEX, MV_NODE_COUNT ... in the program's environment).

When the program ends, the node's init reports its hostname, MAC, address, MV-EXIT status, times and the last 64 KiB of its console; serve prints a line per report and a table at the end (with --json, one JSON object per node on stdout). A node that cannot reach the server still prints MV-EXIT and powers off.

It runs until --until-reports N nodes reported, --timeout, or Ctrl-C, then stops dnsmasq and removes its run directory. Exit status: 0 when every expected node reported MV-EXIT 0, 1 when one failed or did not report, 128 + the signal's number (130) on Ctrl-C, after the table. Needs root (DHCP and TFTP ports).`;
  static override examples = [
    {
      description: "Beside the site's DHCP server, until 4 nodes reported:",
      command: '<%= config.bin %> serve images/hello-netboot --interface eth1 --until-reports 4 --timeout 600',
    },
    {
      description: 'As the DHCP server of a network of your own:',
      command: '<%= config.bin %> serve images/hello.iso --interface br0 --dhcp-range 10.77.0.100,10.77.0.199 --json',
    },
  ];
  static override args = {
    image: Args.string({
      description: 'a netboot directory (build --format netboot) or an ISO (the kernel and initramfs are read out of it)',
      required: true,
    }),
  };
  static override flags = {
    interface: Flags.string({ char: 'i', description: 'the interface the nodes are on (default: the only one with an IPv4 address)' }),
    'proxy-dhcp': Flags.boolean({ description: "proxy-DHCP beside the site's DHCP server (the default)", exclusive: ['dhcp-range'] }),
    'dhcp-range': Flags.string({
      description: "be the DHCP server, handing out addresses A to B (A,B) of the interface's subnet",
      exclusive: ['proxy-dhcp'],
    }),
    port: Flags.integer({ char: 'p', description: 'HTTP port', default: 8080, min: 1, max: 65535 }),
    'until-reports': Flags.integer({ description: 'stop once N nodes reported; also tells each node the count', min: 1 }),
    mac: Flags.string({
      description: "an expected node's MAC (repeat it; the order gives MV_NODE_INDEX); other machines are not booted",
      multiple: true,
      default: [],
    }),
    timeout: Flags.integer({ description: 'give up after S seconds (expected nodes that did not report fail the run)', min: 1 }),
    json: Flags.boolean({ description: 'one JSON object per node on stdout (progress and the table on stderr)' }),
    verbose: Flags.boolean({ char: 'v', description: "also show dnsmasq's DHCP and TFTP log" }),
    'ready-file': Flags.string({ hidden: true, description: 'written once serving (for cluster run)' }),
    'no-summary': Flags.boolean({ hidden: true, description: 'no table at the end (for cluster run)' }),
  };

  async run() {
    const { args, flags } = await this.parse(Serve);
    const r = await serve({
      image: args.image,
      iface: flags.interface,
      proxy: !flags['dhcp-range'],
      dhcpRange: flags['dhcp-range'],
      port: flags.port,
      untilReports: flags['until-reports'],
      macs: flags.mac,
      timeoutS: flags.timeout,
      readyFile: flags['ready-file'],
      json: flags.json,
      verbose: flags.verbose,
      noSummary: flags['no-summary'],
      out: (l) => process.stdout.write(l + '\n'),
      err: (l) => process.stderr.write(l + '\n'),
    });
    if (r.error) throw r.error;
  }
}
