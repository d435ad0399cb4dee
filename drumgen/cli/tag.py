"""`drumgen tag`: label hits by class with the tagger, or train a tagger on your own tags (drumgen.tagger)."""

from __future__ import annotations

import argparse

PARSER = dict(help="label hits by class with the tagger, or train a tagger on your own tags")


def add_args(p: argparse.ArgumentParser) -> None:
    from drumgen import tagger

    tagger.add_tag_args(p)


def run(args: argparse.Namespace) -> int:
    from drumgen import tagger

    return tagger.cmd_tag(args)
