"""ETL: the raw input contract and run bookkeeping both engines share (this package's
modules), the engines (`embedded`, `spark`) and the synthetic data generator (`generator`)."""
