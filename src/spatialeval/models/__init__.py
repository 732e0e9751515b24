"""Model backends — recognisers (ASR), speaker encoders, spatial encoders — their registries and checkpoint
loaders. Heavy backends are imported lazily by the stages that use them."""
