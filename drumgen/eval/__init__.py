"""Measures of drum sounds and of models: the embedding and distances, spectrogram pictures, model cards."""
