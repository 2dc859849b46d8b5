"""The bottom layer: what every package of the project may import, and which imports none of them.

    profit_core   <-  training, tasks   <-  harness

It holds the file contracts (`formats/`: one module per file type, owning its name, schema, reader and writer),
atomic group-readable writes and hashing (`files`), the write guard for output folders (`folders`), the checks of a
Hugging Face model folder (`model_folder`), the offline switches (`offline`), the one resolution of a hub id to a
local folder (`hub`), package versions (`versions`), method names (`names`) and the one error type for user
mistakes (`errors`). Standard library only (plus safetensors-free parsing of headers; `hub` imports huggingface_hub
only when it downloads), so importing it costs nothing.
"""
