namespace Ecommerce.Testing.Snowflake;

/// <summary>What the double answers instead of, or around, running a statement.</summary>
public abstract record SnowflakeFault
{
    /// <summary>An HTTP error status (429, 503, 504...) before anything runs, optionally with Retry-After.</summary>
    public sealed record Status(int Code, TimeSpan? RetryAfter = null) : SnowflakeFault;

    /// <summary>The connection is dropped before the statement runs.</summary>
    public sealed record DropBeforeRunning : SnowflakeFault;

    /// <summary>The statement runs (and commits), then the connection is dropped before the answer is sent.</summary>
    public sealed record DropAfterRunning : SnowflakeFault;

    /// <summary>The statement runs, the answer is 202, and polling says "still running" this many times.</summary>
    public sealed record RunAsynchronously(int Polls) : SnowflakeFault;

    /// <summary>The submission is held this long before it runs; it runs even if the client has gone meanwhile.</summary>
    public sealed record Hold(TimeSpan Duration) : SnowflakeFault;
}
