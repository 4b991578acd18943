using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>A landed row a modelling transaction takes (by its landing and source position), and what it made of it.</summary>
public sealed record LandedClaim(string LandingId, IncomingOrder Order, string Outcome)
{
    public const string New = "NEW";
    public const string Duplicate = "DUPLICATE";
    public const string Conflict = "CONFLICT";

    public SourcePosition Source => Order.Source;

    private static readonly Column[] KeyColumns =
    [
        new("LANDING_ID", ColumnType.Text), new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer),
        new("SOURCE_OFFSET", ColumnType.BigInt),
    ];

    /// <summary>Landed rows by their full keys, the {claims} that read_taken_claims.sql and read_landed_records.sql look up.</summary>
    public static RowSet Keys(IEnumerable<(string LandingId, SourcePosition Source)> rows) =>
        new("claims", KeyColumns, rows.Select(r => new object?[] { r.LandingId, r.Source.Topic, r.Source.Partition, r.Source.Offset }).ToArray());
}
