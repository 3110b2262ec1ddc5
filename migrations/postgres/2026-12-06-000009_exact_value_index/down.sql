DROP INDEX indicators_value;
CREATE INDEX indicators_value ON indicators (value);
