// The one place domain outcomes become HTTP: each capability's refusals and the shared domain errors get
// their status, machine-readable code and public message here (and `App.httpError` maps everything thrown).
// Pages map typed outcomes to screens; only this file knows which status each one is.

import Core
import Formats
import Images
import Web

extension Generations.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchVideo: .notFound("No such video.")
        case .noPrompt:
            .validation(field: "final_prompt", "this video has no final prompt yet; write one before generating")
        case .providerNotConfigured:
            HTTPError(
                503, "provider_not_configured", "Video generation is not configured on this server (no OPENAI_API_KEY)."
            )
        case let .invalidSettings(error): error.httpError
        case let .priceChanged(now, expected):
            HTTPError(
                409, "price_changed",
                "The price for these settings is now \(now.display), not \(expected.display). Review it and confirm again."
            )
        case .alreadyActive:
            HTTPError(409, "generation_in_progress", "A generation of this video is already queued or in progress.")
        case let .referenceImageNotSupported(model):
            HTTPError(
                422, "reference_image_not_supported",
                "\(model) does not take a reference image, and this video has one. Remove the image or pick a model that takes one."
            )
        case let .referenceImageRequired(model):
            HTTPError(
                422, "reference_image_required",
                "\(model) makes videos only from an image: upload a reference image to this video first.")
        case let .remixUnavailable(why): why.httpError
        case let .budgetExceeded(why): why.httpError
        }
    }
}

extension Roundtables.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchVideo: .notFound("No such video.")
        case .noSuchRoundtable: .notFound("No such roundtable.")
        case .noBrief: .validation(field: "brief", "this video has no brief yet; the roundtable works from the brief")
        case .chatNotConfigured:
            HTTPError(503, "chat_not_configured", "The roundtable is not configured on this server (no chat API key).")
        case let .noChatPrice(model):
            HTTPError(
                503, "chat_model_unpriced",
                "The chat model \(model) has no price in the catalog, so PromptReel cannot record what it costs. Ask the operator to add it (promptreel roundtable prices set)."
            )
        case let .unknownPreset(name): .validation(field: "preset", "no preset named \(name)")
        case .noRoles:
            HTTPError(
                503, "no_roles",
                "The roundtable has no roles. Ask the operator to add some (promptreel roundtable roles add).")
        case let .invalidSettings(error): error.httpError
        case .feedbackTooLong: .validation(field: "feedback", "must be at most 2000 characters")
        case .notCompleted: HTTPError(409, "roundtable_not_completed", "This roundtable has no proposal yet.")
        case .notFailed: HTTPError(409, "roundtable_not_failed", "Only a failed roundtable can be retried.")
        case .startedByOther:
            HTTPError(
                403, "not_starter",
                "Someone else started this roundtable, and its cost is theirs: only they can retry it. Start a new one instead."
            )
        case let .invalidPrompt(message): .validation(field: "prompt", message)
        case let .budgetExceeded(why): why.httpError
        }
    }
}

extension SettingsError {
    var httpError: HTTPError {
        unavailable ? HTTPError(503, "no_models", message) : .validation(field: field.rawValue, message)
    }
}

extension BudgetExceeded {
    /// 402 with what is left, as a decimal string with 2 places.
    var httpError: HTTPError {
        var error = HTTPError(402, "budget_exceeded", message)
        error.fields = [("remaining", remaining.flooredCentsText)]
        return error
    }
}

extension Webhooks.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchEndpoint: .notFound("No such webhook endpoint.")
        case .noSuchDelivery: .notFound("No such webhook delivery.")
        case .attemptInProgress:
            HTTPError(
                409, "delivery_in_progress",
                "This delivery is being attempted right now. Send it again once the attempt has ended.")
        case let .invalidURL(why): .validation(field: "url", why.message)
        case let .privateAddress(why):
            .validation(field: "url", "points at \(why.sentence), which webhooks may not reach")
        case let .unknownEvent(name):
            .validation(
                field: "events",
                "unknown event \(name) (known: \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", ")))")
        case .noEvents: .validation(field: "events", "choose at least one event")
        case let .tooMany(limit):
            HTTPError(
                409, "too_many_endpoints", "You have \(limit) webhook endpoints, the most allowed. Delete one first.")
        }
    }
}

extension Library.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchVideo: .notFound("No such video.")
        case .noSuchProject: .notFound("No such project.")
        case .generationActive:
            HTTPError(
                409, "generation_in_progress",
                "A generation is queued or in progress. Wait for it to finish (or cancel it while it waits), then delete."
            )
        case .generationUnconfirmed:
            HTTPError(
                409, "generation_unconfirmed",
                "A generation could not be confirmed with the video provider and may have been billed. It must be settled first (an operator adopts it with `promptreel generations adopt`)."
            )
        case .roundtableActive:
            HTTPError(409, "roundtable_in_progress", "A roundtable is running. Wait for it to finish, then delete.")
        }
    }
}

extension ReferenceImages.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchVideo: return .notFound("No such video.")
        case .empty: return HTTPError(422, "image_missing", "Choose an image to upload (JPEG, PNG or WebP).")
        case .tooManyBytes: return HTTPError(413, "image_too_large", "The image is over 20 MB.")
        case let .image(error):
            switch error {
            case .notAnImage:
                return HTTPError(
                    415, "unsupported_image",
                    "That file is not a JPEG, PNG or WebP image (checked by its content, not its name).")
            case let .tooSmall(w, h):
                return HTTPError(
                    422, "image_too_small",
                    "The image is \(w)×\(h) pixels; it must be at least \(Images.minSide)×\(Images.minSide).")
            case let .tooLarge(w, h):
                return HTTPError(
                    422, "image_dimensions_too_large",
                    "The image is \(w)×\(h) pixels; the limit is \(Images.maxSide) pixels a side and \(Images.maxPixels / 1_000_000) megapixels."
                )
            case let .unreadable(detail):
                return HTTPError(
                    422, "image_unreadable", "The image could not be read: it is truncated or corrupt.",
                    logDetail: detail)
            }
        case let .overLimits(detail):
            return HTTPError(
                422, "image_over_limits",
                "Decoding this image needs more memory or time than this server allows: send a smaller one, or a baseline (not progressive) JPEG.",
                logDetail: detail)
        case let .quotaExceeded(used, quota, upload):
            return HTTPError(
                422, "storage_quota_exceeded",
                "This upload (\(Formatting.bytes(upload))) would take your uploads past your storage quota: \(Formatting.bytes(used)) of \(Formatting.bytes(quota)) used. Remove images you no longer use, or ask an admin for more."
            )
        case let .decoderUnavailable(detail):
            return HTTPError(
                503, "image_decoder_unavailable", "Images cannot be processed right now. Try again shortly.",
                logDetail: detail)
        case let .busy(instance):
            var error = HTTPError(
                429, "image_busy",
                instance
                    ? "The server is decoding as many images as it can right now. Try again in a moment."
                    : "Another of your images is being processed. Try again when it is done.")
            error.headers = [("Retry-After", "2")]
            return error
        }
    }
}

extension InvalidInput {
    var httpError: HTTPError { HTTPError(422, code, description) }
}

extension Generations.RemixUnavailable {
    var httpError: HTTPError {
        switch self {
        case .notCompleted, .expired: HTTPError(409, code, message)
        case .modelNotOffered, .modelCannotRemix: HTTPError(422, code, message)
        }
    }
}

extension StoryboardClicks.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchProject: .notFound("No such project.")
        case .noSuchVideo: .notFound("No such video in this project.")
        case .emptyStoryboard:
            HTTPError(422, "empty_storyboard", "This project has no shots yet: add videos to it first.")
        case .nothingChosen:
            HTTPError(
                422, "no_shots_chosen",
                "Every shot already has a completed take. Choose the shots to generate again (videoIds).")
        case let .duplicateShot(id): .validation(field: "videoIds", "video \(id) is listed twice")
        case let .tooManyShots(chosen, limit):
            HTTPError(
                422, "too_many_shots",
                "\(chosen) shots were chosen; one click generates at most \(limit). Choose fewer and generate the rest in another click."
            )
        case .providerNotConfigured: Generations.Refusal.providerNotConfigured.httpError
        case let .invalidSettings(error): error.httpError
        case let .priceChanged(now, expected): Generations.Refusal.priceChanged(now: now, expected: expected).httpError
        case .allActive:
            HTTPError(
                409, "generation_in_progress", "Every chosen shot is already queued or being generated.")
        case let .nothingToStart(skipped):
            HTTPError(
                422, "no_shot_can_start",
                "No chosen shot can start: "
                    + skipped.map { "“\($0.video.title)” (\($0.reason.message))" }.joined(separator: "; ") + ".")
        case let .budgetExceeded(why): why.httpError
        case .storyboardChanged:
            HTTPError(
                409, "generation_in_progress",
                "A chosen shot started generating elsewhere since you reviewed this click, and the shots after it would start from its frame. Review it again."
            )
        case .continuityNeedsOneTake:
            .validation(field: "continuity", "needs one take per shot (each shot starts from one video's last frame)")
        case let .continuityNotSupported(model):
            HTTPError(
                422, "continuity_not_supported",
                "\(model) does not take a reference image, so a shot cannot start from the last frame of the one before. Pick a model that does."
            )
        }
    }
}

extension Films.Refusal {
    var httpError: HTTPError {
        switch self {
        case .noSuchProject: return .notFound("No such project.")
        case .emptyStoryboard:
            return HTTPError(422, "empty_storyboard", "This project has no shots yet: add videos to it first.")
        case let .shotsMissing(videos):
            var error = HTTPError(
                409, "shots_missing",
                "\(videos.count == 1 ? "1 shot has" : "\(videos.count) shots have") no completed take yet: generate \(videos.count == 1 ? "it" : "them") first."
            )
            error.jsonFields = [("videoIds", .array(videos.map(JSON.id)))]
            return error
        case .inProgress:
            return HTTPError(409, "film_in_progress", "A film of this storyboard is already being made.")
        case let .tooManyShots(n):
            return HTTPError(
                422, "too_many_shots", "This storyboard has \(n) shots; a film takes at most \(Films.maxShots).")
        case let .crossfadeTooLong(shortest):
            return .validation(
                field: "crossfadeMs",
                "must be shorter than the shortest shot (\(String(format: "%.2f", shortest)) s)")
        }
    }
}

extension StaleVideo {
    /// 412 with the current version's ETag, so a client can read it and apply its change again.
    var httpError: HTTPError {
        var error = HTTPError(
            412, "precondition_failed",
            "Someone else changed this video since you loaded it: nothing was changed. Load it again (ETag \(current.etag)) and apply your change to that version."
        )
        error.headers = [("ETag", current.etag)]
        return error
    }
}
