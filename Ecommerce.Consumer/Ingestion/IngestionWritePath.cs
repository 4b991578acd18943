namespace Ecommerce.Consumer.Ingestion;

/// <summary>How a batch reaches the star schema: <c>Ingestion:WritePath</c> (see docs/write-path.md).</summary>
public enum IngestionWritePath
{
    /// <summary>Each batch in one transaction: facts, dimensions and resume points together; writers take turns.</summary>
    Direct,

    /// <summary>Batches appended to a landing table by every process at once; one process at a time models them.</summary>
    Landed,
}
