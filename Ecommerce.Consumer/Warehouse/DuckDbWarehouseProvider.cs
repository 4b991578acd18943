using System.Data.Common;
using DuckDB.NET.Data;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The embedded warehouse: a DuckDB file. Row sets are appended (DuckDB's fastest load path) to temporary
/// tables of the writing connection; reads for analytics use connections of their own, so queries never wait
/// for a batch to commit.
/// </summary>
public sealed class DuckDbWarehouseProvider : IWarehouseProvider
{
    private readonly string _connectionString;
    private readonly DuckDBConnection _writer;
    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private readonly HashSet<string> _stagingTables = new(StringComparer.Ordinal);

    public DuckDbWarehouseProvider(string connectionString)
    {
        _connectionString = connectionString;
        _writer = new DuckDBConnection(connectionString);
        _writer.Open();
    }

    public string SystemName => "duckdb";

    public async Task ExecuteScriptAsync(string script, CancellationToken cancellationToken)
    {
        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            using var command = _writer.CreateCommand();
            command.CommandText = script;
            command.ExecuteNonQuery();
        }
        finally
        {
            _writerLock.Release();
        }
    }

    public async Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken)
    {
        if (statement.Sources.Count == 0)
        {
            // Plain reads get their own connection to the same database and run beside the writer.
            using var reader = new DuckDBConnection(_connectionString);
            reader.Open();
            return Read(reader, statement.Sql, statement.Parameters);
        }

        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            var sql = Stage(statement, "q");
            return Read(_writer, sql, statement.Parameters);
        }
        finally
        {
            _writerLock.Release();
        }
    }

    public async Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            // Staging tables are temporary and private to this connection, so they are filled outside the
            // transaction; only the statements that touch the star schema are inside it. Each statement has tables
            // of its own, so two statements may read different row sets of the same name.
            var prepared = statements.Select((statement, index) => (Sql: Stage(statement, $"s{index}"), statement.Parameters)).ToList();
            using var transaction = _writer.BeginTransaction();
            foreach (var (sql, parameters) in prepared)
            {
                using var command = _writer.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                Bind(command, parameters);
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            _writerLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writerLock.WaitAsync();
        try
        {
            await _writer.DisposeAsync();
        }
        finally
        {
            _writerLock.Release();
            _writerLock.Dispose();
        }
    }

    /// <summary>Fills a temporary table per row set (named after the set and <paramref name="slot"/>) and names them in the SQL.</summary>
    private string Stage(SqlStatement statement, string slot)
    {
        if (statement.Sources.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"A statement reads two row sets named '{twice.Key}'.", nameof(statement));
        }

        var sql = statement.Sql;
        foreach (var source in statement.Sources)
        {
            var table = $"stg_{source.Name}_{slot}";
            if (_stagingTables.Add(table))
            {
                var columns = string.Join(", ", source.Columns.Select(c => $"{c.Name} {c.SqlType}"));
                Execute($"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})");
            }

            Execute($"TRUNCATE {table}");

            using (var appender = _writer.CreateAppender("temp", "main", table))
            {
                foreach (var values in source.Rows)
                {
                    var row = appender.CreateRow();
                    for (var i = 0; i < values.Length; i++)
                    {
                        Append(row, values[i]);
                    }

                    row.EndRow();
                }
            }

            sql = sql.Replace($"{{{source.Name}}}", table, StringComparison.Ordinal);
        }

        return sql;
    }

    private void Execute(string sql)
    {
        using var command = _writer.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<object?[]> Read(DuckDBConnection connection, string sql, IReadOnlyList<object?> parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Bind(command, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Normalize(reader.GetValue(i));
            }

            rows.Add(row);
        }

        return rows;
    }

    private static void Bind(DbCommand command, IReadOnlyList<object?> parameters)
    {
        foreach (var value in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        }
    }

    /// <summary>Values in the types every provider returns: whole numbers as long, fractions as decimal or double.</summary>
    private static object Normalize(object value) => value switch
    {
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        float number => (double)number,
        DateTime dateTime => DateTime.SpecifyKind(dateTime, DateTimeKind.Utc),
        System.Numerics.BigInteger big => (decimal)big,
        _ => value,
    };

    private static void Append(IDuckDBAppenderRow row, object? value)
    {
        switch (value)
        {
            case null: row.AppendNullValue(); break;
            case string text: row.AppendValue(text); break;
            case int number: row.AppendValue(number); break;
            case long number: row.AppendValue(number); break;
            case decimal number: row.AppendValue(number); break;
            case DateTime instant: row.AppendValue(instant); break;
            case DateOnly date: row.AppendValue(date); break;
            case bool flag: row.AppendValue(flag); break;
            default: throw new NotSupportedException($"Cannot stage a value of type {value.GetType()}.");
        }
    }
}
