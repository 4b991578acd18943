using System.Diagnostics;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Ingestion;

/// <summary>What <see cref="CpuByStage"/> counts: the CPU a stage spends, not the time it waits.</summary>
[Trait("Category", "Fast")]
public sealed class CpuByStageTests
{
    [Fact]
    public void A_stage_counts_the_cpu_it_spends_and_not_the_time_it_waits()
    {
        Assert.True(CpuByStage.IsSupported || !OperatingSystem.IsLinux(), "the thread's CPU clock should be readable on Linux");
        if (!CpuByStage.IsSupported)
        {
            return; // Nothing is counted elsewhere, by design.
        }

        // Parsing: counted only by the consume loop, which no test runs inside this process (the batch stages are counted by
        // the warehouse tests running beside this one).
        var before = CpuByStage.Seconds()[IngestionStage.ParseAndValidate];
        using (var timing = CpuByStage.Start(IngestionStage.ParseAndValidate))
        {
            Thread.Sleep(300);
            timing.SuspendUnless(completed: false); // As before an await that lets the thread go: what follows is not counted...
            Spin(TimeSpan.FromMilliseconds(200));
            timing.Resume(); // ...until the stage resumes.
            Spin(TimeSpan.FromMilliseconds(50));
        }

        var counted = CpuByStage.Seconds()[IngestionStage.ParseAndValidate] - before;
        // At most the 50 ms spun while timed (less if the thread waited for a core meanwhile), far from the 300 ms slept and
        // the 200 ms spun while suspended; a little more than nothing, however busy the machine.
        Assert.InRange(counted, 0.001, 0.15);
    }

    [Fact]
    public void The_consume_loop_shares_its_cpu_between_reading_and_parsing_and_neither_count_ever_falls()
    {
        if (!CpuByStage.IsSupported)
        {
            return;
        }

        // The loop's counts are only ever added to by a LoopTimer, and this test's is the only one in this process.
        var loop = new CpuByStage.LoopTimer();
        var seen = new List<(double Read, double Parse)>();
        void Rounds(int rounds, long parsingTicksPerTurn)
        {
            for (var turn = 0; turn < rounds * CpuByStage.LoopTimer.ReadEvery; turn++)
            {
                loop.Turn();
                Spin(TimeSpan.FromTicks(1_000)); // 0.1 ms of work a turn.
                loop.AddParsing(parsingTicksPerTurn);
                var now = CpuByStage.Seconds();
                seen.Add((now[IngestionStage.Read], now[IngestionStage.ParseAndValidate]));
            }
        }

        // No parsing: the loop's CPU is all reading.
        loop.Turn(); // The first reading of the clock.
        var start = CpuByStage.Seconds();
        Rounds(5, 0);
        var middle = CpuByStage.Seconds();
        Assert.True(middle[IngestionStage.Read] > start[IngestionStage.Read]);
        Assert.Equal(start[IngestionStage.ParseAndValidate], middle[IngestionStage.ParseAndValidate]);

        // Parsing said to take longer than the turns' CPU (as a preempted parse's wall time may): parsing takes the rounds'
        // CPU and no more, reading nothing.
        Rounds(5, Stopwatch.Frequency);
        var end = CpuByStage.Seconds();
        Assert.True(end[IngestionStage.ParseAndValidate] > middle[IngestionStage.ParseAndValidate]);
        Assert.True(end[IngestionStage.ParseAndValidate] - middle[IngestionStage.ParseAndValidate] < 1, "capped by the rounds' CPU (320 s of parsing were said)");
        Assert.InRange(end[IngestionStage.Read] - middle[IngestionStage.Read], 0, 0.002); // At most the round the switch fell in.

        Assert.All(seen.Zip(seen.Skip(1)), pair => Assert.True(pair.Second.Read >= pair.First.Read && pair.Second.Parse >= pair.First.Parse));
    }

    private static void Spin(TimeSpan duration)
    {
        var spinning = Stopwatch.StartNew();
        while (spinning.Elapsed < duration)
        {
            Thread.SpinWait(20);
        }
    }
}
