using System.Collections;
using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A batch's new orders as rows of FACT_ORDERS (<see cref="Columns"/>), made from the orders as they are asked for
/// rather than kept: DuckDB appends them value by value (<see cref="ITypedRows"/>), and a boxed row of fourteen values
/// cost about 270 bytes an order that lived as long as the transaction. A row asked for as a list of values (a
/// warehouse that stages rows, Snowflake) is made anew each time.
/// </summary>
public sealed class FactOrderRows(IReadOnlyList<IncomingOrder> orders, IReadOnlyList<long> customerKeys, DateTime ingestedAt)
    : IReadOnlyList<object?[]>, ITypedRows
{
    public static readonly Column[] Columns =
    [
        new("ORDER_ID", ColumnType.Text), new("ORDER_TIMESTAMP", ColumnType.Timestamp), new("ORDER_DATE", ColumnType.Date),
        new("CUSTOMER_ID", ColumnType.Text), new("CUSTOMER_SK", ColumnType.BigInt), new("PRODUCT_ID", ColumnType.Text),
        new("PRICE", ColumnType.Decimal), new("QUANTITY", ColumnType.Integer), new("TOTAL_AMOUNT", ColumnType.Decimal), new("CONTENT_DIGEST", ColumnType.Text),
        new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer), new("SOURCE_OFFSET", ColumnType.BigInt),
        new("INGESTED_AT", ColumnType.Timestamp),
    ];

    public int Count => orders.Count;

    /// <summary>Row <paramref name="index"/> as a list of boxed values, made anew at every call.</summary>
    public object?[] this[int index]
    {
        get
        {
            var row = new BoxedRow(Columns.Length);
            for (var column = 0; column < Columns.Length; column++)
            {
                WriteValue(index, column, row);
            }

            return row.Values;
        }
    }

    public void WriteValue(int row, int column, IValueWriter writer)
    {
        var incoming = orders[row];
        var order = incoming.Order;
        switch (column)
        {
            case 0: writer.WriteText(order.OrderId); break;
            case 1: writer.WriteTimestamp(order.OrderTimestamp); break;
            case 2: writer.WriteDate(DateOnly.FromDateTime(order.OrderTimestamp)); break;
            case 3: writer.WriteText(order.CustomerId); break;
            case 4: writer.WriteBigInt(customerKeys[row]); break;
            case 5: writer.WriteText(order.ProductId); break;
            case 6: writer.WriteDecimal(order.Price); break;
            case 7: writer.WriteInteger(order.Quantity); break;
            // Exact: a price has at most two decimal places (OrderValidator), as TOTAL_AMOUNT's DECIMAL(18,2) keeps.
            case 8: writer.WriteDecimal(order.Price * order.Quantity); break;
            case 9: writer.WriteText(incoming.ContentDigest); break;
            case 10: writer.WriteText(incoming.Source.Topic); break;
            case 11: writer.WriteInteger(incoming.Source.Partition); break;
            case 12: writer.WriteBigInt(incoming.Source.Offset); break;
            case 13: writer.WriteTimestamp(ingestedAt); break;
            default: throw new ArgumentOutOfRangeException(nameof(column), column, $"FACT_ORDERS rows have {Columns.Length} columns.");
        }
    }

    public IEnumerator<object?[]> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A row's values, boxed into an array.</summary>
    private sealed class BoxedRow(int columns) : IValueWriter
    {
        private int _next;

        public object?[] Values { get; } = new object?[columns];

        public void WriteNull() => _next++;

        public void WriteText(string value) => Values[_next++] = value;

        public void WriteInteger(int value) => Values[_next++] = value;

        public void WriteBigInt(long value) => Values[_next++] = value;

        public void WriteDecimal(decimal value) => Values[_next++] = value;

        public void WriteTimestamp(DateTime value) => Values[_next++] = value;

        public void WriteDate(DateOnly value) => Values[_next++] = value;

        public void WriteBoolean(bool value) => Values[_next++] = value;
    }
}
