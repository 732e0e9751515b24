"""Stand-in models for tests and offline demos: the real architectures' exact parameter names and
shapes with deterministic random weights. They exercise loading, batching and decoding; they do not
localise, recognise or verify anything.

* :mod:`.bat` — BAT's ``finetuned.pth`` (``spatialeval make-test-checkpoint``);
* :mod:`.wavlm_ecapa` — seed-tts-eval's WavLM-Large + ECAPA-TDNN ``wavlm_large_finetune.pth``;
* :mod:`.huggingface` — tiny Whisper, WavLM x-vector and Paraformer folders built from configs.
"""
