"""Reading and writing what users hand us and what we hand back: audio files, MIDI files, controller input, safe names, atomic writes."""
