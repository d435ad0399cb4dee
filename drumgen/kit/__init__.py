"""Kit export: WAVs, SFZ, Hydrogen drumkit.xml and MIDI that play as the browser did."""
