/**
 * Two whole stacks (Interface + TcpStack) over a chosen link, 192.0.2.1 and 192.0.2.2, for tests
 * in virtual time. The bulk-transfer application they run is support/bulk.ts.
 */
import { Interface } from '../../src/iface/interface.ts';
import type { Device } from '../../src/phy/device.ts';
import { TcpStack, type TcpStackOptions } from '../../src/socket/tcp/stack.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';

export interface StackPair {
  a: Interface;
  b: Interface;
  tcpA: TcpStack;
  tcpB: TcpStack;
}

export function stackPair(devA: Device, devB: Device, tcp: Partial<TcpStackOptions> = {}): StackPair {
  const tcpA = new TcpStack({ sockets: 8, isnKey: [0x11111111, 2, 3, 4], ...tcp });
  const tcpB = new TcpStack({ sockets: 8, isnKey: [0x22222222, 6, 7, 8], ...tcp });
  const a = new Interface({ device: devA, address: HOST_A, tcp: tcpA });
  const b = new Interface({ device: devB, address: HOST_B, tcp: tcpB });
  return { a, b, tcpA, tcpB };
}
