namespace Ecommerce.Consumer.Warehouse;

/// <summary>A stage of the ingestion service's work whose CPU time <see cref="CpuByStage"/> counts.</summary>
public enum IngestionStage
{
    /// <summary>
    /// The consume loop's work but the parsing: taking records from the Kafka client (<c>Consume</c>), and the loop's own
    /// bookkeeping (adding records to the batch, handing stored offsets to the client, lag and gap checks, rebalances).
    /// </summary>
    Read,

    /// <summary>Parsing and validating a record into an order or a rejection.</summary>
    ParseAndValidate,

    /// <summary>Telling a batch's new orders from redeliveries and conflicts.</summary>
    Classify,

    /// <summary>Taking or reading the batch's customers' versions, and rebuilding their histories.</summary>
    History,

    /// <summary>
    /// Building the batch's rows and statements, and on DuckDB running them up to the commit (Snowflake's requests are
    /// not timed: they wait on the network). DuckDB's other transactions (landings, a modelling cycle's) count here too.
    /// </summary>
    Write,

    /// <summary>Committing a DuckDB transaction (a checkpoint of the file, when one is due, included).</summary>
    Commit,
}
