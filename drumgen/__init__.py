"""drumgen: train generative drum models on your own hits and play them in a browser drum machine."""

__version__ = "0.1.0"
