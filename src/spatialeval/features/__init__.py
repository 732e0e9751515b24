"""Signal features shared by the metrics: resampling, STFT, mel projection, interaural cues."""
