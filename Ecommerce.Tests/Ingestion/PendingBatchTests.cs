using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Producer.Simulation;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Ingestion;

[Trait("Category", "Fast")]
public sealed class PendingBatchTests
{
    private static readonly OrderGenerator Generator = new(new SimulatorOptions { Seed = 11 }, new FixedTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56)));

    private static ConsumeResult<byte[]?, byte[]?> Record(int partition, long offset) => new()
    {
        Topic = "orders",
        Partition = partition,
        Offset = offset,
        Message = new Message<byte[]?, byte[]?> { Value = Generator.Next().Payload, Headers = [] },
    };

    [Fact]
    public void Progress_says_where_the_batch_starts_and_ends_in_each_partition()
    {
        var batch = new PendingBatch();
        foreach (var record in new[] { Record(0, 10), Record(1, 3), Record(0, 11), Record(1, 4) })
        {
            batch.Add(ValidatedRecord.Of(record, latestAllowed: null), 0);
        }

        var progress = batch.Progress().OrderBy(p => p.Partition).Select(p => (p.Partition, p.FirstOffset, p.NextOffset));

        Assert.Equal([(0, (long?)10, 12L), (1, (long?)3, 5L)], progress);
    }

    [Fact]
    public void Events_another_writer_stored_meanwhile_are_left_out_and_a_partition_stored_entirely_drops_out()
    {
        var batch = new PendingBatch();
        foreach (var offset in new long[] { 10, 11, 12, 13, 14 })
        {
            batch.Add(ValidatedRecord.Of(Record(0, offset), latestAllowed: null), 0);
        }

        foreach (var offset in new long[] { 3, 4, 5 })
        {
            batch.Add(ValidatedRecord.Of(Record(1, offset), latestAllowed: null), 0);
        }

        Assert.True(batch.SkipStored([new StoredOffset(0, 13, "x"), new StoredOffset(1, 6, "y"), new StoredOffset(7, 99, "z")]));
        Assert.False(batch.SkipStored([new StoredOffset(0, 13, "x"), new StoredOffset(1, 2, "y")])); // Nothing new to leave out.

        Assert.Equal([(0, 13L), (0, 14L)], batch.Orders.Select(o => (o.Source.Partition, o.Source.Offset)));
        Assert.Equal(6, batch.SkippedOrders);
        Assert.Equal([14L], batch.OrdersBelow(new StoredOffset(0, 15, "w")).Where(o => o.Source.Offset > 13).Select(o => o.Source.Offset));
        var progress = Assert.Single(batch.Progress());
        Assert.Equal((0, (long?)13, 15L), (progress.Partition, progress.FirstOffset, progress.NextOffset));
    }

    [Fact]
    public void A_batch_links_to_the_producer_spans_of_its_first_orders_up_to_the_exporters_limit()
    {
        var batch = new PendingBatch();
        var contexts = new List<System.Diagnostics.ActivityContext>();
        for (var offset = 0; offset < PendingBatch.MaxProducerLinks + 50; offset++)
        {
            var context = new System.Diagnostics.ActivityContext(
                System.Diagnostics.ActivityTraceId.CreateRandom(), System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);
            contexts.Add(context);
            var record = Record(0, offset);
            record.Message.Headers.Add("traceparent", System.Text.Encoding.ASCII.GetBytes($"00-{context.TraceId}-{context.SpanId}-01"));
            batch.Add(ValidatedRecord.Of(record, latestAllowed: null), 0);
        }

        Assert.Equal(contexts.Take(PendingBatch.MaxProducerLinks).Select(c => (c.TraceId, c.SpanId)), batch.ProducerLinks().Select(l => (l.Context.TraceId, l.Context.SpanId)));
        Assert.Equal(50L, batch.RecordOf(batch.Orders[50]).Offset.Value);
    }
}
