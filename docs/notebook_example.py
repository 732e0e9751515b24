"""spatialeval in a notebook: each cell below runs as-is (python docs/notebook_example.py).

Every metric is a plain function on arrays; the pipeline returns a pandas DataFrame.
"""

import tempfile

import spatialeval
from spatialeval.example import write_example_pairs
from spatialeval.synth import spatialize, speech_like

sr = 32000
voice = speech_like(3.0, sr, seed=0)
gt = spatialize(voice, sr, azimuth_deg=30)  # (time, 2), channel 0 = left ear
gen = spatialize(voice, sr, azimuth_deg=45)

# %% ISDrama IPD/ILD (the released definition) and the strict protocol
print(spatialeval.ipd_ild_mae(gt, gen, sr))  # {'ipd_mae': ..., 'ild_mae': ...}
print(spatialeval.ipd_ild_mae(gt, gen, sr, protocol="strict"))  # radians and dB

# %% checkpoint-free cues: ITD/ILD/IACC errors and direction-of-arrival error
cues = spatialeval.spatial_cue_errors(gt, gen, sr)
print({k: cues[k] for k in ("itd_error_us", "ild_band_error_db", "doa_error_deg", "front_back_confusion")})

# %% F0 frame error, speaker similarity, CER on strings
print(spatialeval.ffe(gt, gen, sr))
print(spatialeval.sim(gt, gen, sr))
print(spatialeval.cer("The quick brown fox.", "the quick brown box"))

# %% the whole pipeline on a folder pair → DataFrame + summary
with tempfile.TemporaryDirectory() as tmp:
    write_example_pairs(tmp, n_pairs=4)
    result = spatialeval.evaluate(f"{tmp}/gt", f"{tmp}/gen", {"stages": ["interaural", "ffe", "cues"]})
    print(result.items[["id", "ipd_mae", "ild_mae", "ffe", "doa_error_deg"]])
    print({k: result.summary[k] for k in ("ipd_mae", "ild_mae", "ffe", "doa_error_deg")})
