using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Testing.Snowflake;

/// <summary>One request the double received: method, requestId or handle, retry flag, statement or partition, query tag.</summary>
public sealed record RecordedRequest(string Method, string Id, bool Retry, string Detail, string? QueryTag)
{
    /// <summary>Size of the request body (statement and bindings), for a submission.</summary>
    public int BodyBytes { get; init; }

    /// <summary>A request that opens a transaction (after the session settings that may come first).</summary>
    public bool IsBatchTransaction => Method == "POST" && StatementRun.KindOf(SqlText.SplitStatements(Detail)) == "transaction";
}
