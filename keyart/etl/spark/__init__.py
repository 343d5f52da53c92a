"""The Spark ETL engine (`keyart ingest --engine spark`): same contract, same warehouse."""

from keyart.etl.spark.engine import ingest_spark

__all__ = ["ingest_spark"]
