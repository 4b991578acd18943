using System.Collections;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A row set's rows, made when first read: for a set only some statements need, such as one that a provider replaces
/// by its shortcut (<see cref="SqlStatement.WhenNothingCommitted"/>), which DuckDB's single writer does batch after batch.
/// </summary>
internal sealed class DeferredRows(Func<object?[][]> make) : IReadOnlyList<object?[]>
{
    private readonly Lazy<object?[][]> _rows = new(make, LazyThreadSafetyMode.ExecutionAndPublication);

    public object?[] this[int index] => _rows.Value[index];

    public int Count => _rows.Value.Length;

    public IEnumerator<object?[]> GetEnumerator() => ((IEnumerable<object?[]>)_rows.Value).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
