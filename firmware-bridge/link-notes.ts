/**
 * What the shell's `ifconfig` and `stats` say about the serial line in words, beside the
 * counters: the SLIP mode in force (as `slattach -p` names it) and hints for the two mistakes
 * that otherwise look like a silent stall, a peer with a larger MTU and a peer that compresses
 * headers while this side runs plain `slip`.
 */
import type { CslipDevice } from '../src/phy/cslip-device.ts';
import type { SlipDevice } from '../src/phy/slip-device.ts';

/** The mode line: "proto adaptive: compressing TCP/IP headers (RFC 1144), switched on by the peer". */
export function protoLine(cslip: CslipDevice): string {
  switch (cslip.proto) {
    case 'slip':
      return 'proto slip: plain SLIP (RFC 1055), no header compression';
    case 'cslip':
      return 'proto cslip: compressing TCP/IP headers (RFC 1144)';
    default:
      return cslip.isCompressing
        ? 'proto adaptive: compressing TCP/IP headers (RFC 1144), switched on by the peer\'s first compressed frame'
        : 'proto adaptive: plain SLIP until the peer sends a compressed frame';
  }
}

/** Every note, one per line, each ending in "\n". */
export function linkNotes(cslip: CslipDevice, slip: SlipDevice, mtu: number): string {
  let text = `${protoLine(cslip)}\n`;
  const oversize = slip.stats.decoder.oversize;
  if (oversize > 0) text += `frames larger than MTU: ${oversize}; the peer's MTU may be larger (ours is ${mtu})\n`;
  if (cslip.stats.ignored > 0) {
    text += `compressed frames ignored: ${cslip.stats.ignored}; the peer compresses headers (slattach -p cslip): ` +
      'run with --proto adaptive or cslip\n';
  }
  return text;
}
