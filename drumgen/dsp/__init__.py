"""Signal processing shared by models, measures and training: one STFT/mel/phase module, the procedural synth."""
