namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>Snowflake refused or failed a statement; carries Snowflake's own error code and SQL state.</summary>
public class SnowflakeException : Exception
{
    public SnowflakeException()
    {
    }

    public SnowflakeException(string message)
        : base(message)
    {
    }

    public SnowflakeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SnowflakeException(string message, int httpStatus, string? code, string? sqlState, string? statementHandle)
        : base(message)
    {
        HttpStatus = httpStatus;
        Code = code;
        SqlState = sqlState;
        StatementHandle = statementHandle;
    }

    public int HttpStatus { get; }

    /// <summary>Snowflake's error code, e.g. <c>002003</c> (object does not exist) or <c>390144</c> (invalid JWT).</summary>
    public string? Code { get; }

    public string? SqlState { get; }

    /// <summary>The query id, to look the statement up in Snowflake's query history.</summary>
    public string? StatementHandle { get; }
}
