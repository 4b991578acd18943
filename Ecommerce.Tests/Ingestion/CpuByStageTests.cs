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
        using (CpuByStage.Start(IngestionStage.ParseAndValidate))
        {
            Thread.Sleep(300);
            var spinning = Stopwatch.StartNew();
            while (spinning.ElapsedMilliseconds < 50)
            {
                Thread.SpinWait(1_000);
            }
        }

        var counted = CpuByStage.Seconds()[IngestionStage.ParseAndValidate] - before;
        // At most the 50 ms spun (less if the thread waited for a core meanwhile), far from the 350 ms that passed; a little
        // more than nothing, however busy the machine.
        Assert.InRange(counted, 0.001, 0.2);
    }
}
