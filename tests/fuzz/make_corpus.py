#!/usr/bin/env python3
# Writes the stored seed corpus, tests/fuzz/corpus/<target>/: a few small valid
# inputs per fuzz target, so that libFuzzer starts from files that get past the
# first checks. Rerun from the repository root after changing an input layout:
#   tests/fuzz/make_corpus.py
import gzip, io, json, os, random, shutil, struct, wave, math, glob
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
root = "tests/fuzz/corpus"
def put(target, name, data):
    os.makedirs(f"{root}/{target}", exist_ok=True)
    open(f"{root}/{target}/{name}", "wb").write(data)

# config: the shipped experiments
for path in sorted(glob.glob("configs/*/*.toml")):
    put("fuzz_config", path.replace("configs/", "").replace("/", "_"), open(path, "rb").read())

# idx: FuzzedDataProvider layout (see fuzz_idx.cpp)
def idx(magic, dims, values):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)
def escape(b): return b.replace(b"\\", b"\\\\") + b"\\;"
rng = random.Random(1)
images = idx(0x803, [2, 4, 4], [rng.randrange(256) for _ in range(32)])
labels = idx(0x801, [2], [0, 1])
put("fuzz_idx", "plain_4x4", escape(images) + labels + bytes([0b00010]))   # image_size 28
put("fuzz_idx", "plain_keep_rgb", escape(images) + labels + bytes([0b11000]))  # size 0, 3 channels, fashion
put("fuzz_idx", "gzipped", escape(gzip.compress(images, mtime=0)) + gzip.compress(labels, mtime=0) + bytes([0b00001]))

# sound: tiny WAVs at 16 kHz (no resampling) and 8 kHz stereo (downmix + resampling)
def wav(rate, channels, frames, sampwidth=2):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels); w.setsampwidth(sampwidth); w.setframerate(rate)
        data = b""
        for i in range(frames):
            v = int(12000 * math.sin(i / 5))
            data += (struct.pack("<h", v) if sampwidth == 2 else bytes([128 + v // 256])) * channels
        w.writeframes(data)
    return out.getvalue()
put("fuzz_sound_file", "mono_16k.wav", wav(16000, 1, 64))
put("fuzz_sound_file", "stereo_8k.wav", wav(8000, 2, 48))
put("fuzz_sound_file", "mono_8bit_22k.wav", wav(22050, 1, 40, 1))

# safetensors: the layout save_safetensors writes (header in name order, padded with spaces)
def safetensors(tensors, metadata=None):
    header, data, offset = {}, b"", 0
    if metadata: header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw); data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data
put("fuzz_safetensors", "two_tensors", safetensors(
    {"w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "step": ("I64", [], struct.pack("<q", 7))}, {"format": "pt"}))
put("fuzz_safetensors", "empty_and_bool", safetensors(
    {"e": ("F16", [0, 3], b""), "b": ("BOOL", [3], b"\x01\x00\x01"), "h": ("BF16", [1], b"\x80\x3f")}))

# corruptions: FuzzedDataProvider reads parameters from the end, contents from the front, so random bytes are fine
for target in ["token_mask", "span_mask", "span_infill", "text_infill", "token_deletion", "patch_mask"]:
    for i, n in enumerate([64, 256, 1024]):
        put(f"fuzz_{target}", f"random_{n}", bytes(rng.randrange(256) for _ in range(n)))
