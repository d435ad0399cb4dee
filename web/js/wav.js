// PCM WAV files read on the page's own thread: the server's WAVs (16-bit) and most dropped files (16/24-bit
// integer, 32-bit float) become AudioBuffers without a trip through decodeAudioData, which hands each file to
// a decoder thread and back (about 1.2 ms a pad, 10 ms of a new kit's 8 sounds), and resamples it to the
// context's rate where a source node would resample it while playing. Anything else (other bit depths, other
// formats, damaged files) returns null, and the caller leaves it to decodeAudioData and its error.

const PCM = 1, FLOAT = 3, EXTENSIBLE = 0xfffe;

/** The chunks of a RIFF/WAVE file: {fmt: DataView, data: [offset, bytes]} or null when it is not one. */
function chunks(bytes) {
  if (bytes.byteLength < 12) return null;
  const v = new DataView(bytes);
  const tag = (p) => String.fromCharCode(v.getUint8(p), v.getUint8(p + 1), v.getUint8(p + 2), v.getUint8(p + 3));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return null;
  let fmt = null;
  for (let p = 12; p + 8 <= bytes.byteLength;) {
    const id = tag(p), size = v.getUint32(p + 4, true), body = p + 8;
    if (id === "fmt " && size >= 16 && body + size <= bytes.byteLength) fmt = new DataView(bytes, body, size);
    // a data chunk that says it is longer than the file (a recorder that never came back to write it) ends there
    if (id === "data") return fmt ? { fmt, data: [body, Math.min(size, bytes.byteLength - body)] } : null;
    p = body + size + (size & 1); // chunks are word-aligned
  }
  return null;
}

/** One channel's samples out of interleaved frames, as floats in [-1, 1). */
function channel(bytes, offset, frames, channels, depth, kind, c) {
  const out = new Float32Array(frames);
  const stride = channels * depth, start = offset + c * depth;
  if (kind === FLOAT) {
    // aligned: a view on the file itself; else a copy that is
    const all = start % 4 === 0 && channels === 1 ? new Float32Array(bytes, start, frames)
      : new Float32Array(bytes.slice(offset, offset + frames * stride));
    if (channels === 1) out.set(all);
    else for (let i = 0; i < frames; i++) out[i] = all[i * channels + c];
  } else if (depth === 2) {
    const all = offset % 2 === 0 ? new Int16Array(bytes, offset, frames * channels)
      : new Int16Array(bytes.slice(offset, offset + frames * stride));
    for (let i = 0; i < frames; i++) out[i] = all[i * channels + c] / 32768;
  } else { // 24-bit: three bytes, little-endian, signed
    const b = new Uint8Array(bytes);
    for (let i = 0, p = start; i < frames; i++, p += stride) {
      const x = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
      out[i] = (x & 0x800000 ? x - 0x1000000 : x) / 8388608;
    }
  }
  return out;
}

/** ArrayBuffer -> {rate, channels: [Float32Array]} for 16/24-bit integer or 32-bit float PCM WAV; else null. */
export function read(bytes) {
  const found = chunks(bytes);
  if (!found) return null;
  const { fmt, data: [offset, size] } = found;
  let kind = fmt.getUint16(0, true);
  const channels = fmt.getUint16(2, true), rate = fmt.getUint32(4, true), bits = fmt.getUint16(14, true);
  if (kind === EXTENSIBLE && fmt.byteLength >= 26) kind = fmt.getUint16(24, true); // the sub-format's first field
  const depth = bits / 8;
  const known = (kind === PCM && (bits === 16 || bits === 24)) || (kind === FLOAT && bits === 32);
  const frames = known && channels ? Math.floor(size / (channels * depth)) : 0;
  // an AudioBuffer holds 1-32 channels at 3-768 kHz and at least one frame
  if (!frames || channels > 32 || rate < 3000 || rate > 768000) return null;
  return { rate, channels: Array.from({ length: channels }, (_, c) =>
    channel(bytes, offset, frames, channels, depth, kind, c)) };
}
