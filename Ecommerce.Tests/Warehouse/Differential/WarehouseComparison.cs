using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>What a warehouse and a dead-letter topic hold, compared line by line with a <see cref="ReferenceModel"/>.</summary>
public static class WarehouseComparison
{
    /// <summary>Every table against the model; <paramref name="query"/> runs SQL on the warehouse.</summary>
    public static async Task<List<string>> CompareTablesAsync(ReferenceModel model, Func<string, object?[], Task<IReadOnlyList<object?[]>>> query, string topic)
    {
        var differences = new List<string>();

        var facts = (await query(
                "SELECT f.ORDER_ID, f.ORDER_TIMESTAMP, f.CUSTOMER_ID, f.PRODUCT_ID, f.PRICE, f.QUANTITY, f.TOTAL_AMOUNT, f.ORDER_DATE, " +
                "c.CUSTOMER_NAME, c.CUSTOMER_REGION, c.VALID_FROM FROM FACT_ORDERS f LEFT JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK", []))
            .Select(r => ReferenceModel.FactLine((string)r[0]!, (DateTime)r[1]!, (string)r[2]!, (string)r[3]!, (decimal)r[4]!, Convert.ToInt64(r[5], CultureInfo.InvariantCulture),
                (decimal)r[6]!, (DateOnly)r[7]!, (string?)r[8], (string?)r[9], (DateTime?)r[10]));
        Compare("FACT_ORDERS", model.Facts, facts, differences);

        var versions = (await query(
                "SELECT CUSTOMER_ID, CUSTOMER_NAME, CUSTOMER_REGION, VALID_FROM, VALID_TO, IS_CURRENT, ORDER_COUNT, LAST_SEEN_AT FROM DIM_CUSTOMER", []))
            .Select(r => ReferenceModel.VersionLine((string)r[0]!, (string)r[1]!, (string)r[2]!, (DateTime)r[3]!, (DateTime?)r[4], (bool)r[5]!,
                Convert.ToInt64(r[6] ?? -1L, CultureInfo.InvariantCulture), (DateTime)r[7]!));
        Compare("DIM_CUSTOMER", model.Versions, versions, differences);

        var products = (await query("SELECT PRODUCT_ID, PRODUCT_NAME, CATEGORY FROM DIM_PRODUCT", []))
            .Select(r => ReferenceModel.ProductLine((string)r[0]!, (string)r[1]!, (string)r[2]!));
        Compare("DIM_PRODUCT", model.Products, products, differences);

        var dates = (await query("SELECT ORDER_DATE, DAY, MONTH, YEAR, QUARTER, WEEKDAY, IS_WEEKEND FROM DIM_DATE", []))
            .Select(r =>
            {
                // Written in the model's form, so that stored attributes that are not those of the date differ.
                var date = (DateOnly)r[0]!;
                return FormattableString.Invariant($"{date:yyyy-MM-dd} | {r[1]} {r[2]} {r[3]} | Q{r[4]} | weekday {r[5]} | weekend {r[6]}");
            });
        Compare("DIM_DATE", model.Dates, dates, differences);

        // A partition resumes after the furthest point stored by a batch transaction (direct path) or a landing.
        var offsets = (await query(
                "SELECT PARTITION_ID, MAX(NEXT_OFFSET) FROM (SELECT PARTITION_ID, NEXT_OFFSET FROM INGESTION_OFFSETS WHERE TOPIC = ? " +
                "UNION ALL SELECT PARTITION_ID, NEXT_OFFSET FROM LANDED_PROGRESS WHERE TOPIC = ?) AS p GROUP BY PARTITION_ID", [topic, topic]))
            .Select(r => ReferenceModel.OffsetLine(Convert.ToInt32(r[0], CultureInfo.InvariantCulture), Convert.ToInt64(r[1], CultureInfo.InvariantCulture)));
        Compare("resume points", model.Offsets, offsets, differences);
        return differences;
    }

    /// <summary>
    /// The dead-letter topic against the model: the distinct (partition, offset, code) of the dead letters whose source
    /// is <paramref name="sourceTopic"/>, read to the topic's end.
    /// </summary>
    public static List<string> CompareDeadLetters(ReferenceModel model, string bootstrapServers, string deadLetterTopic, string sourceTopic)
    {
        var differences = new List<string>();
        // A batch abandoned after its dead letters were sent sends them again when it is read again: at least once.
        Compare(deadLetterTopic, model.DeadLetters, ReadDeadLetters(bootstrapServers, deadLetterTopic, sourceTopic).Distinct(), differences);
        return differences;
    }

    /// <summary>The dead letters from <paramref name="sourceTopic"/>, as (partition, offset, code) lines, read to the topic's end.</summary>
    public static List<string> ReadDeadLetters(string bootstrapServers, string deadLetterTopic, string sourceTopic)
    {
        var lines = new List<string>();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"differential-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).SetLogHandler((_, _) => { }).Build();
        var unread = Enumerable.Range(0, EmbeddedKafka.Partitions)
            .Select(p => new TopicPartition(deadLetterTopic, p))
            .ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value)
            .Where(e => e.Value > 0)
            .ToDictionary(e => e.Key, e => e.Value);
        consumer.Assign(unread.Keys.Select(p => new TopicPartitionOffset(deadLetterTopic, p, Offset.Beginning)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (unread.Count > 0 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } record)
            {
                continue;
            }

            if (record.Offset.Value + 1 >= unread.GetValueOrDefault(record.Partition.Value, long.MaxValue))
            {
                unread.Remove(record.Partition.Value);
            }

            string Header(string name) => Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));
            if (Header(DeadLetterPublisher.SourceTopicHeader) == sourceTopic)
            {
                lines.Add(ReferenceModel.DeadLetterLine(int.Parse(Header(DeadLetterPublisher.SourcePartitionHeader), CultureInfo.InvariantCulture),
                    long.Parse(Header(DeadLetterPublisher.SourceOffsetHeader), CultureInfo.InvariantCulture), Header(DeadLetterPublisher.CodeHeader)));
            }
        }

        if (unread.Count > 0)
        {
            throw new TimeoutException($"{deadLetterTopic} could not be read to its end in 30 s");
        }

        return lines;
    }

    private static void Compare(string table, IReadOnlyList<string> expected, IEnumerable<string> actual, List<string> differences)
    {
        var stored = actual.ToList();
        var missing = expected.ToList();
        var extra = new List<string>();
        foreach (var line in stored)
        {
            if (!missing.Remove(line))
            {
                extra.Add(line);
            }
        }

        differences.AddRange(missing.Order(StringComparer.Ordinal).Take(15).Select(l => $"{table} lacks   {l}"));
        differences.AddRange(extra.Order(StringComparer.Ordinal).Take(15).Select(l => $"{table} has extra {l}"));
    }
}
