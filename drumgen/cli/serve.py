"""`drumgen serve`: the browser drum machine and the HTTP API (binds 127.0.0.1 unless told otherwise)."""

from __future__ import annotations

import argparse

from drumgen.cli import common

PARSER = dict(help="start the drum machine at http://127.0.0.1:8000")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    common.add_checkpoints_arg(p)
    p.add_argument("--midi-in", metavar="PORT_NAME", help="relay this MIDI input port to the browser")
    p.add_argument("--models-dir", metavar="DIR", default=None,
                   help="your own trained models: served beside the defaults, where the training panel installs "
                        "new ones (default: $DRUMGEN_MODELS_DIR or ~/.local/share/drumgen/models)")
    p.add_argument("--open", action="store_true", help="open the drum machine in a web browser")
    common.add_device_arg(p)
    p.add_argument("--precision", choices=("float32", "bfloat16"), default=None,
                   help="number type of the decoders' convolutions on a CPU: float32 (default, the numbers "
                        "training gives) or bfloat16 (faster where the CPU has Intel AMX or AVX-512 BF16; sounds "
                        "differ by about -45 dB; $DRUMGEN_PRECISION)")
    p.add_argument("--no-extend", dest="extend", action="store_false", default=None,
                   help="serve the GANs' hits as they make them, without the band above 10.5 kHz (22.05 kHz models) "
                        "and the ringing tails (those and a short-sliced 44.1 kHz one) that drumgen adds by default "
                        "(drumgen.dsp.extension; $DRUMGEN_EXTEND=0)")


def run(args: argparse.Namespace) -> int:
    from drumgen.server.app import serve

    serve(host=args.host, port=args.port, checkpoints=args.checkpoints, midi_in=args.midi_in,
          open_browser=args.open, models_dir=args.models_dir, device=args.device, precision=args.precision,
          extend=args.extend)
    return 0
