DROP INDEX indicators_time;
