using System.Collections;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Rows built when first read: for a row set that only a statement usually replaced by its shortcut reads
/// (<see cref="SqlStatement.WhenNothingCommitted"/>; on DuckDB's single writer, almost every batch), so that most
/// batches never build them.
/// </summary>
internal sealed class DeferredRows(Func<object?[][]> make) : IReadOnlyList<object?[]>
{
    private readonly Lazy<object?[][]> _rows = new(make, LazyThreadSafetyMode.ExecutionAndPublication);

    public object?[] this[int index] => _rows.Value[index];

    public int Count => _rows.Value.Length;

    public IEnumerator<object?[]> GetEnumerator() => ((IEnumerable<object?[]>)_rows.Value).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
