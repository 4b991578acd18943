using System.Diagnostics;
using Confluent.Kafka;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Producer.Simulation;

/// <summary>
/// Sends the generated orders to Kafka at the configured rate. Stops after <c>Simulator:Count</c> orders (then
/// ends the process with exit code 0) or on Ctrl-C/SIGTERM; either way everything in flight is flushed first,
/// so an order the log counts as sent is an order the broker has.
/// </summary>
public sealed partial class SimulatorWorker(
    IProducer<string, byte[]> producer,
    OrderGenerator generator,
    SimulatorMetrics metrics,
    IOptions<SimulatorOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<SimulatorWorker> logger) : BackgroundService
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(30);
    private readonly SimulatorOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // Let the host finish starting before the send loop takes this thread.
        LogStarting(_options.Topic, _options.Rate, _options.Count, _options.Seed?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");

        var started = time.GetTimestamp();
        var lastProgress = started;
        long lastProgressSent = 0;
        // The backfill (past orders for a first run) goes out as fast as the broker takes it; the rate applies from
        // the first order of now on.
        (long At, long Sent)? pacedFrom = null;
        while (!stoppingToken.IsCancellationRequested && (_options.Count == 0 || metrics.Sent < _options.Count))
        {
            var backfill = generator.InBackfill;
            Send(generator.Next(), stoppingToken);

            if (_options.Rate > 0 && !backfill)
            {
                pacedFrom ??= (time.GetTimestamp(), metrics.Sent - 1);
                await PaceAsync(pacedFrom.Value, stoppingToken);
            }

            if (time.GetElapsedTime(lastProgress) >= _options.ProgressInterval)
            {
                var elapsed = time.GetElapsedTime(lastProgress).TotalSeconds;
                LogProgress(metrics.Sent, (metrics.Sent - lastProgressSent) / elapsed, metrics.Delivered, metrics.Failed, metrics.Invalid);
                lastProgress = time.GetTimestamp();
                lastProgressSent = metrics.Sent;
            }
        }

        Flush();
        var total = time.GetElapsedTime(started);
        LogFinished(metrics.Sent, metrics.Delivered, metrics.Failed, metrics.Invalid, total.TotalSeconds, metrics.Sent / Math.Max(total.TotalSeconds, 0.001));

        if (_options.Count > 0 && !stoppingToken.IsCancellationRequested)
        {
            lifetime.StopApplication(); // A bounded run is a job: it ends when its orders are delivered.
        }
    }

    private void Send(SimulatedEvent simulated, CancellationToken stoppingToken)
    {
        var message = new Message<string, byte[]> { Key = simulated.Key, Value = simulated.Payload, Headers = new Headers() };

        // Each order is its own trace: start the span without a parent and do not leave it as the current one.
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = KafkaTracing.StartSend(_options.Topic, simulated.Key);
        Activity.Current = previous;
        activity?.SetTag("ecommerce.order.id", simulated.Order.OrderId);
        KafkaTracing.Inject(activity, message.Headers);

        var handedOver = time.GetTimestamp();
        while (true)
        {
            try
            {
                producer.Produce(_options.Topic, message, report => OnDelivered(report, activity, handedOver));
                metrics.RecordSent(simulated.Kind);
                return;
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull && !stoppingToken.IsCancellationRequested)
            {
                // The client's buffer is full: the broker is the bottleneck. Serve delivery reports and try again.
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivered(DeliveryReport<string, byte[]> report, Activity? activity, long handedOver)
    {
        if (report.Error.IsError)
        {
            metrics.RecordFailed(report.Error.Code.ToString());
            LogDeliveryFailed(report.Error.Code, report.Error.Reason);
            activity?.SetStatus(ActivityStatusCode.Error, report.Error.Reason);
        }
        else
        {
            metrics.RecordDelivered(time.GetElapsedTime(handedOver));
            activity?.SetTag("messaging.destination.partition.id", report.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity?.SetTag("messaging.kafka.offset", report.Offset.Value);
        }

        activity?.Dispose();
    }

    private async Task PaceAsync((long At, long Sent) pacedFrom, CancellationToken stoppingToken)
    {
        // Keep to the schedule "order n leaves at n / rate" so that short stalls are caught up, not accumulated.
        var due = TimeSpan.FromSeconds((metrics.Sent - pacedFrom.Sent) / _options.Rate) - time.GetElapsedTime(pacedFrom.At);
        if (due > TimeSpan.FromMilliseconds(1))
        {
            try
            {
                await Task.Delay(due, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping: the loop ends and flushes.
            }
        }
    }

    private void Flush()
    {
        var remaining = producer.Flush(FlushTimeout);
        if (remaining > 0)
        {
            LogFlushIncomplete(remaining, FlushTimeout.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulator sending to '{Topic}' at {Rate} orders/s (0 = unthrottled), count {Count} (0 = endless), seed {Seed}")]
    private partial void LogStarting(string topic, double rate, long count, string seed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulator progress: {Sent} sent ({Rate:F0}/s), {Delivered} delivered, {Failed} failed, {Invalid} invalid")]
    private partial void LogProgress(long sent, double rate, long delivered, long failed, long invalid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulator finished: {Sent} sent, {Delivered} delivered, {Failed} failed, {Invalid} invalid in {Seconds:F1} s ({Rate:F0} orders/s)")]
    private partial void LogFinished(long sent, long delivered, long failed, long invalid, double seconds, double rate);

    [LoggerMessage(Level = LogLevel.Error, Message = "Order not delivered: {Code} {Reason}")]
    private partial void LogDeliveryFailed(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Remaining} orders were still in flight after waiting {Seconds} s for the broker")]
    private partial void LogFlushIncomplete(int remaining, double seconds);
}
