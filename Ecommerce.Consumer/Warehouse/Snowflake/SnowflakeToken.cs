namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>The bearer token of one request and the value of <c>X-Snowflake-Authorization-Token-Type</c>.</summary>
public readonly record struct SnowflakeToken(string Value, string Type);
