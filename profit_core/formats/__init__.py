"""The project's file contracts, one module per file type: its name, schema version, reader and writer.

| module            | file                        | written by                  | read by                          |
|-------------------|-----------------------------|-----------------------------|----------------------------------|
| `run_manifest`    | `<run>/profit_run.json`     | `profit train`              | train, eval, pipeline            |
| `train_log`       | `<run>/train_log.jsonl`     | `profit train`              | train (resume), eval, report     |
| `store_record`    | `<store>/records/<key>.json`| `profit eval` (the store)   | store, report, pipeline          |
| `token_analysis`  | `<store>/token_analysis.json`| the testbed's analysis     | report                           |
| `base_build`      | `<base>/base_build.json`    | the testbed's base builder  | testbed, pipeline                |
| `pipeline_state`  | `<store>/.pipeline_state.json`| `profit pipeline`         | `profit pipeline`                |

docs/formats.md describes each; the modules are the definition.
"""
