namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A row set's rows that can also be read value by value with their types (<see cref="IValueWriter"/>): a provider that
/// writes rows one value at a time (DuckDB's appender) reads them so, and no value is boxed, no row array made. A row
/// list that implements this remains readable row by row through <see cref="RowSet.Rows"/> for every other use.
/// </summary>
public interface ITypedRows
{
    int Count { get; }

    /// <summary>Writes the value of column <paramref name="column"/> (in the row set's order of columns) of row <paramref name="row"/>.</summary>
    void WriteValue(int row, int column, IValueWriter writer);
}
