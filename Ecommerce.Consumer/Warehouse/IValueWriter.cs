namespace Ecommerce.Consumer.Warehouse;

/// <summary>Takes one value of a row, by the column type it is (<see cref="ColumnType"/>).</summary>
public interface IValueWriter
{
    void WriteNull();

    void WriteText(string value);

    void WriteInteger(int value);

    void WriteBigInt(long value);

    void WriteDecimal(decimal value);

    void WriteTimestamp(DateTime value);

    void WriteDate(DateOnly value);

    void WriteBoolean(bool value);
}
