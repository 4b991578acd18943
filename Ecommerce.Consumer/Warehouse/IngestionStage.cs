namespace Ecommerce.Consumer.Warehouse;

/// <summary>A stage of the ingestion service's work whose CPU time <see cref="CpuByStage"/> counts.</summary>
public enum IngestionStage
{
    /// <summary>Taking a record from the Kafka client (the consume loop's <c>Consume</c>).</summary>
    Read,

    /// <summary>Parsing and validating a record into an order or a rejection.</summary>
    ParseAndValidate,

    /// <summary>Telling a batch's new orders from redeliveries and conflicts.</summary>
    Classify,

    /// <summary>Taking or reading the batch's customers' versions, and rebuilding their histories.</summary>
    History,

    /// <summary>Building the batch's rows and statements and running them, up to the commit.</summary>
    Write,

    /// <summary>Committing the batch's transaction (DuckDB; a Snowflake request commits within <see cref="Write"/>).</summary>
    Commit,
}
