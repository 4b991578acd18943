using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// The write-ahead log a DuckDB file gathers before a checkpoint: the service's default
/// (<see cref="DuckDbWarehouseProvider.DefaultCheckpointThreshold"/>), or what the connection string says.
/// </summary>
public sealed class DuckDbCheckpointThresholdTests
{
    [Fact]
    public async Task A_file_gathers_the_default_log_before_a_checkpoint_unless_the_connection_string_says_otherwise()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            Assert.Equal("64.0 MiB", await ThresholdAsync(provider));
        }

        // Given in the connection string (the key in any case): kept, also when another provider of the file opens
        // without it while the first is open (DuckDB.NET opens a file once, with the first connection's settings).
        await using var given = new DuckDbWarehouseProvider($"Data Source={path};Checkpoint_Threshold=256MiB");
        await using var another = new DuckDbWarehouseProvider($"Data Source={path}");
        Assert.Equal("256.0 MiB", await ThresholdAsync(given));
        Assert.Equal("256.0 MiB", await ThresholdAsync(another));
    }

    private static async Task<object?> ThresholdAsync(DuckDbWarehouseProvider provider) =>
        (await provider.QueryAsync(new SqlStatement("SELECT current_setting('checkpoint_threshold')"), CancellationToken.None))[0][0];
}
