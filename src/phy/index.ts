/**
 * The HAL (phy/): Device and ByteLink interfaces, SLIP framing, in-memory and UART-timed links,
 * and the Device wrappers that compose (FaultInjector, PcapWriter, CslipDevice with its RFC 1144
 * header compression).
 */
export type { ByteLink, Device, DeviceCapabilities } from './device.ts';
export { SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC, SlipDecoder, SlipEncoder, slipEncode, slipEncodedMaxLen, type SlipDecoderStats } from './slip.ts';
export { SlipDevice, type SlipDeviceOptions, type SlipDeviceStats } from './slip-device.ts';
export { isWindowedByteLink, type WindowedByteLink } from './byte-window.ts';
export {
  MemoryDevicePair, MemoryLinkPair, MemoryLoopbackLink,
  type MemoryDevice, type MemoryDevicePairOptions, type MemoryDeviceStats, type MemoryLink, type MemoryLinkOptions, type MemoryLinkStats,
} from './memory.ts';
export { UartLinkPair, UartLoopbackLink, UartTimedLink, type UartOptions } from './uart.ts';
export { FaultInjector, type FaultOptions, type FaultStats } from './fault-injector.ts';
export {
  LINKTYPE_RAW, MemoryPcapSink, PCAP_GLOBAL_HEADER_LEN, PCAP_MAGIC, PCAP_RECORD_HEADER_LEN, PCAP_SNAPLEN, PcapWriter,
  type PcapSink, type PcapWriterOptions, type PcapWriterStats,
} from './pcap-writer.ts';
export { CslipDevice, SLIP_PROTOS, type CslipDeviceOptions, type CslipDeviceStats, type FrameErrorSource, type SlipProto } from './cslip-device.ts';
export {
  VJ_HEADROOM, VJ_MAX_HEADER_LEN, VJ_SLOTS, VjChange, VjCompressor, VjDecompressor, VjResult, VjType, vjEncodeDelta,
  type VjCompressorStats, type VjConnectionId, type VjDecompressorStats,
} from './vj.ts';
