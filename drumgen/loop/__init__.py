"""From a drum loop to a kit and a beat: audio -> onsets -> slices -> classes -> tempo and grid -> Pattern + pads.

    result = analyse(x, sample_rate, bpm=None, bars=None, steps=16)   # x: mono float [T]
    result.pattern        # drumgen.pattern.Pattern: one track per pad, velocities on the 16th grid
    result.pads           # at most 8 Pads: class, GM note, the most typical slice, hit count
    result.onsets         # every hit: time, pad, velocity, step, offset from the (swung) grid in ms
    write(result, out)    # pads as WAVs, pattern.json, loop.mid, report.json

The flow, one module a step:
    onsets.py     each band's own onsets -> moved to their attacks -> events (band times, levels, fine bands)
    hits.py       each event's body (< 5 kHz) and top (> 6 kHz) told apart against the loop's own hat, named by
                  the tagger, grouped by class and embedding into at most 8 pads with distinct GM notes
    grid.py       the tempo (beat tracker's octave, then a grid fit), the swing, each onset's step
    analysis.py   the checks and the order of the steps: analyse -> LoopResult (Onsets, Pads, Pattern)
    files.py      write: the result as files; render: a loop from one-shots (tests, benchmarks)
"""

from drumgen.loop.analysis import MAX_SECONDS, LoopError, LoopResult, Onset, analyse, check_bpm
from drumgen.loop.files import write
from drumgen.loop.hits import Pad

__all__ = ["MAX_SECONDS", "LoopError", "LoopResult", "Onset", "Pad", "analyse", "check_bpm", "write"]
