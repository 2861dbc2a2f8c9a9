-- Where a generation's poster (the thumbnail) and spritesheet came from: the provider, or made locally
-- with ffmpeg from the stored video because the provider sent none usable (LiteLLM's Veo and Runway paths
-- answer those requests with the MP4 itself). NULL while there is none.
ALTER TABLE generations
  ADD COLUMN thumbnail_source text CHECK (thumbnail_source IN ('provider', 'local')),
  ADD COLUMN spritesheet_source text CHECK (spritesheet_source IN ('provider', 'local'));

-- Every preview stored before this came from the provider.
UPDATE generations SET thumbnail_source = 'provider' WHERE thumbnail_path IS NOT NULL;
UPDATE generations SET spritesheet_source = 'provider' WHERE spritesheet_path IS NOT NULL;
