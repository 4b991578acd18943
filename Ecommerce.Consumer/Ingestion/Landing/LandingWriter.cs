using System.Text;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// The ingestion processes' write on the Landed write path: a batch's valid orders appended to LANDED_ORDERS, then its
/// partitions' resume points to LANDED_PROGRESS, with INSERTs only, so that any number of processes land at once.
/// Nothing here decides whether an order is new: <see cref="LandedOrderModeller"/> does, for every landing.
/// </summary>
public sealed class LandingWriter(IWarehouseProvider warehouse, TimeProvider time)
{
    private static readonly Column[] OrderColumns =
    [
        new("LANDING_ID", ColumnType.Text), new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer),
        new("SOURCE_OFFSET", ColumnType.BigInt), new("ORDER_ID", ColumnType.Text), new("ORDER_TIMESTAMP", ColumnType.Timestamp),
        new("CUSTOMER_ID", ColumnType.Text), new("CUSTOMER_NAME", ColumnType.Text), new("CUSTOMER_REGION", ColumnType.Text),
        new("PRODUCT_ID", ColumnType.Text), new("PRODUCT_NAME", ColumnType.Text), new("CATEGORY", ColumnType.Text),
        new("PRICE", ColumnType.Decimal), new("QUANTITY", ColumnType.Integer), new("CONTENT_DIGEST", ColumnType.Text),
        new("RECORD_KEY", ColumnType.Text), new("RECORD_VALUE", ColumnType.Text), new("LANDED_AT", ColumnType.Timestamp),
    ];

    private static readonly Column[] ProgressColumns =
    [
        new("LANDING_ID", ColumnType.Text), new("TOPIC", ColumnType.Text), new("PARTITION_ID", ColumnType.Integer),
        new("NEXT_OFFSET", ColumnType.BigInt), new("LAST_RECORD_DIGEST", ColumnType.Text), new("LANDED_AT", ColumnType.Timestamp),
    ];

    /// <summary>
    /// Lands the batch's orders and then its progress. A failure part way leaves orders that land again on the retry
    /// (or with whoever reads the partition next): never progress without its orders.
    /// </summary>
    public async Task LandAsync(PendingBatch batch, IReadOnlyList<PartitionProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var landingId = Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow().UtcDateTime;
        var orders = batch.Orders;
        if (orders.Count > 0)
        {
            var rows = orders.Select(incoming =>
            {
                var order = incoming.Order;
                var message = batch.RecordOf(incoming).Message;
                return new object?[]
                {
                    landingId, incoming.Source.Topic, incoming.Source.Partition, incoming.Source.Offset, order.OrderId,
                    order.OrderTimestamp, order.CustomerId, order.CustomerName, order.CustomerRegion, order.ProductId,
                    order.ProductName, order.Category, order.Price, order.Quantity, incoming.ContentDigest,
                    message.Key is null ? null : Convert.ToBase64String(message.Key),
                    // A valid order was parsed from UTF-8 JSON, so its value is text.
                    Encoding.UTF8.GetString(message.Value ?? []),
                    now,
                };
            }).ToArray();
            await warehouse.AppendAsync(SqlStatement.WithSources(SqlScripts.Get("ingestion/land_orders.sql"), new RowSet("landed", OrderColumns, rows)), cancellationToken);
        }

        if (progress.Count > 0)
        {
            var rows = progress.Select(p => new object?[] { landingId, p.Topic, p.Partition, p.NextOffset, p.LastRecordDigest, now }).ToArray();
            await warehouse.AppendAsync(SqlStatement.WithSources(SqlScripts.Get("ingestion/land_progress.sql"), new RowSet("progress", ProgressColumns, rows)), cancellationToken);
        }
    }
}
